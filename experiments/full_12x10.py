"""The full V7 experiment: 4 groups x 3 runs x 10 generations x 8 agents x 60 dev scenarios.

On the built-in sim by default; `--provider` switches to a real model. `--help` lists every flag.
Interrupted? Run the same command again: finished generations are kept and the rest resumes.
"""

import sys

from negoray.commands.run import main

if __name__ == "__main__":
    sys.exit(main("full_12x10", description=__doc__))
