"""PodNetworks: logical networks made of netclaim devices, with addresses from their ranges."""
