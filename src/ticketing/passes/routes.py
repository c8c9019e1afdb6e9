"""Passes' HTTP API: /api/passes* for holders, /api/checkins for doors."""

from fastapi import APIRouter

passes = APIRouter()
checkins = APIRouter()
