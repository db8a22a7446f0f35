// Private DNS zones for private endpoints, linked to the hub and to every spoke.
// Broken: the spoke links of one zone are created in parallel, and Resource
// Manager rejects concurrent writes to one private DNS zone with Conflict.
// The zone loop itself is fine: each iteration writes a different zone.
param hubVnetId string
param spokeVnetIds array = [
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spoke1/providers/Microsoft.Network/virtualNetworks/vnet-spoke1'
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spoke2/providers/Microsoft.Network/virtualNetworks/vnet-spoke2'
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spoke3/providers/Microsoft.Network/virtualNetworks/vnet-spoke3'
]

var zoneNames = [
  'privatelink.blob.${environment().suffixes.storage}'
  'privatelink.vaultcore.azure.net'
  'privatelink.azurecr.io'
]

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [for zone in zoneNames: {
  name: zone
  location: 'global'
}]

// One hub link per zone: each iteration targets a different zone.
resource hubLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (zone, i) in zoneNames: {
  parent: zones[i]
  name: 'link-hub'
  location: 'global'
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: hubVnetId
    }
  }
}]

resource blobZone 'Microsoft.Network/privateDnsZones@2024-06-01' existing = {
  name: zoneNames[0]
}

// Every spoke linked into the blob zone: all iterations write the same zone.
resource spokeLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (vnetId, i) in spokeVnetIds: {
  parent: blobZone
  name: 'link-spoke-${i}'
  location: 'global'
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnetId
    }
  }
  dependsOn: [
    zones
    hubLinks // the hub link also writes the blob zone
  ]
}]
