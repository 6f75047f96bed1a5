from vrac_notifications.bootstrap import main

main()
