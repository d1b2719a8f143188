"""`netclaim-agent controller`: PodNetwork status and address pools, floating-IP pools."""
