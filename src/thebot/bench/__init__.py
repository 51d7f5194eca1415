"""thebot.bench"""
