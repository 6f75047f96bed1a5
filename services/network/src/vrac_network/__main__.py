"""``python -m vrac_network`` runs the service."""

from vrac_network.bootstrap import main

main()
