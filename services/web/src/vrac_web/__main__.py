"""``python -m vrac_web`` serves the web app."""

from vrac_web.bootstrap import main

main()
