"""Data: safe image reading, preparing shards, streaming them, augmentation and simulated hints."""
