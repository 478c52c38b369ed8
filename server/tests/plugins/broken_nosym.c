/* A valid shared object that exports none of the symbols its name implies. */
int comlink_test_something_else(void);

int
comlink_test_something_else(void)
{
	return 42;
}
