"""``python -m vrac_screening`` runs the service."""

from vrac_screening.bootstrap import main

main()
