"""The proof of concept: groups C and D x 1 run, population 4, 5 generations, 20 dev scenarios.

On the built-in sim by default; `--provider` switches to a real model. `--help` lists every flag.
"""

import sys

from negoray.commands.run import main

if __name__ == "__main__":
    sys.exit(main("poc", description=__doc__))
