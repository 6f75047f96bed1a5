from vrac_reporting.bootstrap import main

main()
