// One BGP peering of a virtual hub with a network virtual appliance.
@description('Name of the existing virtual hub.')
param hubName string

@description('The peer: name, ASN and IP address.')
param peer {
  name: string
  asn: int
  ip: string
}

@description('Resource id of the hub virtual network connection the peer sits behind.')
param connectionId string

resource hub 'Microsoft.Network/virtualHubs@2024-05-01' existing = {
  name: hubName
}

resource bgp 'Microsoft.Network/virtualHubs/bgpConnections@2024-05-01' = {
  parent: hub
  name: peer.name
  properties: {
    peerAsn: peer.asn
    peerIp: peer.ip
    hubVirtualNetworkConnection: {
      id: connectionId
    }
  }
}

output id string = bgp.id
