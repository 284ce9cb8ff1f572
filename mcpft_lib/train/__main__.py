"""`python -m mcpft_lib.train PARAMS OUT_DIR`: the training recipe of notebook 02, from the command line."""

from mcpft_lib.train.recipe import main

raise SystemExit(main())
