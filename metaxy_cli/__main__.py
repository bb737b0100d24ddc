from metaxy_cli.cli import main

main()
