from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int = 1


def cart_total(items: list[Item]) -> float:
    result = 0.0
    for item in items:
        result += item.price * item.quantity
    return result
