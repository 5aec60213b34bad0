"""bard: a Shakespearean chatbot built on a character-level LSTM."""

__version__ = "0.2.0"
