"""lvs-lab: a local Linux Virtual Server lab of User-Mode Linux guests inside a network namespace."""
