//! Kafka broker backends.
