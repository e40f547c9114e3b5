"""Effect evaluation (notebook 05): did CTC make a difference in the CTC areas?"""
