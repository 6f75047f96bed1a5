"""The network domain: a case's support network, its care plan and tasks. Pure: no I/O."""
