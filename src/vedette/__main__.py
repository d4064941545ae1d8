import gc

# Importing the CLI makes only objects that live as long as the process: collecting garbage
# meanwhile is wasted work (about a tenth of the import's CPU). `vedette serve` does the same
# for the app's imports (cli.cmd_serve).
gc.disable()
from vedette.cli import main  # noqa: E402

gc.enable()
main()
