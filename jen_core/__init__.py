"""JEN-1 / JEN-1 Composer models and inference. Imports nothing from the other packages."""
