"""The VRAC web app: server-rendered pages for coaches, parents, helpers and pilot leads."""
