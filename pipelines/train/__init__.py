"""LinguaLinker's training (paper 000 §3.2 "Loss Design", §4.1): a procedural talking-portrait dataset, a TAESD-layout
VAE for it, stage 1 image pretraining and stage 2 video training of the same PortraitModel that inference runs.

Its command line is apps/train.py (`python -m apps.train --help` from the pack root).
"""
