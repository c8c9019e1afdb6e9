"""The pages, one module per area; ROUTERS in the order their paths must be matched."""

from ticketing.web.routes import auth, balance, door, home, orders, passes, tickets

ROUTERS = [
    home.router,
    auth.router,
    tickets.router,
    orders.router,
    passes.router,
    balance.router,
    door.router,
]
