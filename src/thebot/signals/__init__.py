"""thebot.signals"""
