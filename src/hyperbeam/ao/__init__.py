"""AO-Core: paths, hashpaths, HyperPATHs, devices and the resolver."""
