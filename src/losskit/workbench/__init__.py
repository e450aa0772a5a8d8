"""The workbench: train the same model once per loss and compare (``losskit compare``)."""
