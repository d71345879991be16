"""The training harness: one trainer for every architecture/loss/dataset the registry holds."""
