"""``python -m bgpctl`` runs the ``bgp`` command line."""

from bgpctl.cli.app import main

main()
