"""The trainers: autoencoder, JEN-1 and Composer on one shared loop (``base``)."""
