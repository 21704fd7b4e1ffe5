"""bgpctl.controllers."""
