"""Underground pipeline networks: topology, burst isolation, repair orders, clearances."""
