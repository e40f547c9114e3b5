"""phases/followup"""
