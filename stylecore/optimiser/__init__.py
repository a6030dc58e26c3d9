"""The optimiser: Gatys et al.'s style transfer, the image itself optimised against VGG19
features. `transfer.py` runs it (`stylize`, which hands ``engine="instant"`` runs to
`stylecore.instant.run`, the stage plan, the Adam and L-BFGS loops, `warm_up`), `objective.py`
builds the objective and its gradient once per process, `losses.py` holds the seed's loss
terms and `lbfgs.py` the projected L-BFGS."""
