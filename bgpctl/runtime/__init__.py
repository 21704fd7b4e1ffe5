"""bgpctl.runtime."""
