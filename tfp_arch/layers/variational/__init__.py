"""Variational layers: weights with a posterior learned by variational inference, their posterior families,
priors and gradient estimators."""
