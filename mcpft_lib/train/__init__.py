"""Training: the trainer (TRL's SFTTrainer with our loss), the recipe shared by notebook 02 and the CLI,
rank sweeps and the training benchmark."""
