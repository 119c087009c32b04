class_name Coin extends Node2D
## A class of the project, found by name from main.gd.

const VALUE := 5


func describe() -> String:
	return "coin"
