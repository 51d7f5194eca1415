"""thebot.indicators"""
