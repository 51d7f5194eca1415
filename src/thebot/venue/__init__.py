"""thebot.venue"""
