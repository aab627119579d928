# A cluster with neither network nor nodes.
cluster "main" { # ERROR: Missing network block # ERROR: No nodes # ERROR: Missing backup bucket
}
