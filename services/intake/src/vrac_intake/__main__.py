"""``python -m vrac_intake`` runs the service."""

from vrac_intake.bootstrap import main

main()
