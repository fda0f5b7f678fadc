from shop.cart import Item


def print_report(items: list[Item]) -> None:
    total = 0.0
    for item in items:
        total += item.price
        print(f"{item.name:20} {item.price:8.2f}")
    print(f"{'total':20} {total:8.2f}")
