"""bgpctl.testing."""
