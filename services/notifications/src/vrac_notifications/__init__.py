"""VRAC notifications: tells the right person, in their language, through their channel."""
