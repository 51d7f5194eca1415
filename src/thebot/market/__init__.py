"""thebot.market"""
