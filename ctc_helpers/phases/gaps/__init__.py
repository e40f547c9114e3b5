"""phases/gaps"""
