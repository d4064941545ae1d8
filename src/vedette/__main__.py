from vedette.cli import main

main()
