// A virtual WAN hub peering BGP with five network virtual appliances.
// Fixed: the peers share the hub's BGP control plane, so they deploy one
// at a time.
param location string = resourceGroup().location
param hubName string = 'hub-weu'
param connectionId string

var peers = [
  { name: 'nva-1', asn: 65001, ip: '10.10.1.4' }
  { name: 'nva-2', asn: 65002, ip: '10.10.1.5' }
  { name: 'nva-3', asn: 65003, ip: '10.10.1.6' }
  { name: 'nva-4', asn: 65004, ip: '10.10.1.7' }
  { name: 'nva-5', asn: 65005, ip: '10.10.1.8' }
]

resource wan 'Microsoft.Network/virtualWans@2024-05-01' = {
  name: 'wan-core'
  location: location
}

resource hub 'Microsoft.Network/virtualHubs@2024-05-01' = {
  name: hubName
  location: location
  properties: {
    addressPrefix: '10.10.0.0/23'
    virtualWan: {
      id: wan.id
    }
  }
}

// Serial: BGP connections of one virtual hub share its routing control plane.
@batchSize(1)
module bgpPeers '../modules/bgp-connection.bicep' = [for peer in peers: {
  name: '${uniqueString(deployment().name)}-bgp-${peer.name}'
  params: {
    hubName: hub.name
    peer: peer
    connectionId: connectionId
  }
}]
